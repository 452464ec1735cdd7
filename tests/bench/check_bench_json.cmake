# cmake -DTROUPE=<path to troupe> -P check_bench_json.cmake
#
# Runs `troupe bench runtime --quick --json`; fails unless it exits 0 and its
# stdout is one JSON object holding every required key as a positive number
# (idle_cpu_pct may be 0).  string(JSON) rejects malformed JSON.
cmake_minimum_required(VERSION 3.19)
execute_process(COMMAND ${TROUPE} bench runtime --quick --json
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit status ${rc}\n--- stderr\n${err}\n--- stdout\n${out}")
endif()
string(JSON type ERROR_VARIABLE jerr TYPE "${out}")
if(jerr OR NOT type STREQUAL "OBJECT")
  message(FATAL_ERROR "stdout is not one JSON object (${jerr})\n${out}")
endif()
foreach(key pingpong_round_trips_per_s pingpong_ns_per_round_trip fanin_msgs_per_s
            ring_hops_per_s spawn_per_s bytes_per_idle_actor idle_cpu_pct
            ceiling_pingpong_round_trips_per_s ceiling_fanin_msgs_per_s
            pingpong_fraction_of_ceiling fanin_fraction_of_ceiling)
  string(JSON v ERROR_VARIABLE jerr GET "${out}" ${key})
  if(jerr)
    message(FATAL_ERROR "missing key ${key}\n${out}")
  endif()
  string(JSON t TYPE "${out}" ${key})
  if(NOT t STREQUAL "NUMBER")
    message(FATAL_ERROR "${key} is ${t}, not a number")
  endif()
  if(NOT key STREQUAL "idle_cpu_pct" AND NOT v GREATER 0)
    message(FATAL_ERROR "${key} = ${v}, expected > 0")
  endif()
endforeach()
message(STATUS "bench runtime --quick --json: ok")
