# embed_text.cmake - writes the bytes of INPUT as a NUL-terminated C array
# called NAME into OUTPUT, so a source file (py_helper.py) can be edited
# as itself and compiled into the kernel. Run as cmake -DINPUT=... -DOUTPUT=...
# -DNAME=... -P embed_text.cmake.
file(READ ${INPUT} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# a line break every 16 bytes keeps compilers' diagnostics readable
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
get_filename_component(source ${INPUT} NAME)
file(WRITE ${OUTPUT}.tmp
     "/* generated from ${source} by cmake/embed_text.cmake: do not edit */\n"
     "static const char ${NAME}[] = {\n${bytes}0x00};\n")
# unchanged output keeps its time stamp: nothing recompiles
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different
                ${OUTPUT}.tmp ${OUTPUT})
file(REMOVE ${OUTPUT}.tmp)
