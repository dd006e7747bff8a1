// The one source of the tests' precompiled-header libraries (tests/CMakeLists.txt,
// wsss_add_test_pch): CMake builds the header with this file; the test executables reuse it.
