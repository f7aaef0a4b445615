# -Wall -Wextra -Werror for every target of the project, gcc and clang alike.
function(sockit_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral)
endfunction()
