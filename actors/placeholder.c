/* replaced by the first actor source */
typedef int tr__actors_placeholder;
