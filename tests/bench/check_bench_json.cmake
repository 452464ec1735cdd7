# cmake -DTROUPE=<path to troupe> [-DBENCH=runtime|workflow|emergency|fanout] -P check_bench_json.cmake
#
# Runs `troupe bench <BENCH> --quick --json` (BENCH defaults to runtime);
# fails unless it exits 0 and its stdout is one JSON object holding every
# required key of that benchmark as a positive number.  A key written
# "part.key" is looked up inside the object "part"; keys listed in
# zero_ok may be 0.  string(JSON) rejects malformed JSON.
cmake_minimum_required(VERSION 3.19)
if(NOT DEFINED BENCH)
  set(BENCH runtime)
endif()
if(BENCH STREQUAL "runtime")
  set(keys pingpong_round_trips_per_s pingpong_ns_per_round_trip fanin_msgs_per_s
           ring_hops_per_s spawn_per_s bytes_per_idle_actor idle_cpu_pct
           ceiling_pingpong_round_trips_per_s ceiling_fanin_msgs_per_s
           pingpong_fraction_of_ceiling fanin_fraction_of_ceiling)
  set(zero_ok idle_cpu_pct)
elseif(BENCH STREQUAL "workflow")
  set(keys)
  foreach(part sequential concurrent)
    foreach(k executions_per_s events_per_s p50_ms p99_ms node_overhead_us)
      list(APPEND keys ${part}.${k})
    endforeach()
  endforeach()
  set(zero_ok)
elseif(BENCH STREQUAL "emergency")
  set(keys check_ns halt_to_stopped_ms.p50 halt_to_stopped_ms.p99 halt_to_stopped_ms.max
           trades_started_after_halt check_overhead_pct)
  # A check may round to 0 ns once the loop is subtracted; no trade may
  # start after a halt (the command exits 1 if one does); with --quick's few
  # short executions a halt can find them all finished (0 ms to stop).
  set(zero_ok check_ns trades_started_after_halt check_overhead_pct
              halt_to_stopped_ms.p50 halt_to_stopped_ms.p99 halt_to_stopped_ms.max)
elseif(BENCH STREQUAL "fanout")
  set(keys floor_write_us floor_batched_us bytes_per_idle_connection max_connections)
  foreach(k clients events deliveries delivered_per_s p50_ms p99_ms max_ms drops
            server_cpu_us_per_delivery floor_write_us x_floor frame_bytes)
    list(APPEND keys points.0.${k})
  endforeach()
  # No loss at a paced rate (the command exits 1 otherwise); RSS growth over
  # 200 idle connections can round to 0 when the heap already had room.
  set(zero_ok points.0.drops bytes_per_idle_connection)
else()
  message(FATAL_ERROR "unknown BENCH '${BENCH}'")
endif()

execute_process(COMMAND ${TROUPE} bench ${BENCH} --quick --json
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit status ${rc}\n--- stderr\n${err}\n--- stdout\n${out}")
endif()
string(JSON type ERROR_VARIABLE jerr TYPE "${out}")
if(jerr OR NOT type STREQUAL "OBJECT")
  message(FATAL_ERROR "stdout is not one JSON object (${jerr})\n${out}")
endif()
foreach(key ${keys})
  string(REPLACE "." ";" path "${key}")
  string(JSON v ERROR_VARIABLE jerr GET "${out}" ${path})
  if(jerr)
    message(FATAL_ERROR "missing key ${key}\n${out}")
  endif()
  string(JSON t TYPE "${out}" ${path})
  if(NOT t STREQUAL "NUMBER")
    message(FATAL_ERROR "${key} is ${t}, not a number")
  endif()
  list(FIND zero_ok ${key} may_be_zero)
  if(may_be_zero EQUAL -1 AND NOT v GREATER 0)
    message(FATAL_ERROR "${key} = ${v}, expected > 0")
  endif()
endforeach()
message(STATUS "bench ${BENCH} --quick --json: ok")
