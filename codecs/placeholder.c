/* replaced by the first codec source */
typedef int tr__codecs_placeholder;
