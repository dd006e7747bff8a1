# The LibTorch precompiled header is large (over 500 MB): loading it costs a source file about as
# much as compiling a small one outright. Sources that never reach a LibTorch header, directly
# or through the project's own headers, skip it.

# result = ON when `file` includes <torch/...>, <ATen/...> or <c10/...>, or a project header that
# does (followed through "vision/..." / "training/..." includes and the calling directory's own,
# e.g. tests/support/; memoised per file).
function(_wsss_reaches_torch file result)
  get_property(known GLOBAL PROPERTY "WSSS_REACHES_TORCH:${file}" SET)
  if(known)
    get_property(value GLOBAL PROPERTY "WSSS_REACHES_TORCH:${file}")
    set(${result} ${value} PARENT_SCOPE)
    return()
  endif()
  set_property(GLOBAL PROPERTY "WSSS_REACHES_TORCH:${file}" OFF) # guards include cycles
  file(STRINGS "${file}" includes REGEX "^[ \t]*#[ \t]*include")
  set(reaches OFF)
  foreach(line IN LISTS includes)
    if(line MATCHES "include[ \t]*<(torch|ATen|c10)/")
      set(reaches ON)
      break()
    elseif(line MATCHES "include[ \t]*\"([^\"]+)\"")
      # A project header ("vision/…"), or one of the calling directory's ("support/…" in tests/).
      set(header "${PROJECT_SOURCE_DIR}/${CMAKE_MATCH_1}")
      if(NOT EXISTS "${header}")
        set(header "${CMAKE_CURRENT_SOURCE_DIR}/${CMAKE_MATCH_1}")
      endif()
      if(EXISTS "${header}" AND NOT IS_DIRECTORY "${header}")
        _wsss_reaches_torch("${header}" nested)
        if(nested)
          set(reaches ON)
          break()
        endif()
      endif()
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY "WSSS_REACHES_TORCH:${file}" ${reaches})
  set(${result} ${reaches} PARENT_SCOPE)
endfunction()

# Marks the given sources that do not reach LibTorch with SKIP_PRECOMPILE_HEADERS (call it in the
# directory that defines their target).
function(wsss_skip_pch_without_torch)
  foreach(source IN LISTS ARGN)
    _wsss_reaches_torch("${source}" reaches)
    if(NOT reaches)
      set_source_files_properties("${source}" PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()
