# Installation layout and the Debian package: `make package` (CPack's DEB generator).
#
# bin/ and share/ are fixed rather than GNUInstallDirs' variables: the programs find their
# resources at <dir of the binary>/../share/wsss-studio (vision/backbones/backbone_registry.cpp,
# resourceDir()), so the two must stay siblings.
set(WSSS_RESOURCE_DESTINATION share/wsss-studio)

install(TARGETS wsss RUNTIME DESTINATION bin)
# The bundled backbone weights, the demo checkpoint and its rule; not whatever else lies in those folders.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/weights ${PROJECT_SOURCE_DIR}/resources/demo
        DESTINATION ${WSSS_RESOURCE_DESTINATION}
        FILES_MATCHING PATTERN "*.safetensors" PATTERN "*.wsss" PATTERN "*.rule.json")

# The studio and what a desktop shows of it, only when it is built. The .desktop file is named by
# the AppStream id (the metainfo's launchable), as AppStream requires.
if(WSSS_BUILD_GUI)
  install(TARGETS wsss-studio RUNTIME DESTINATION bin)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/io.github.wsss_studio.desktop DESTINATION share/applications)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/io.github.wsss_studio.metainfo.xml DESTINATION share/metainfo)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/wsss-studio.svg DESTINATION share/icons/hicolor/scalable/apps)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wsss-studio)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "WSSS Studio")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "weakly supervised semantic segmentation studio and toolkit")
set(CPACK_PACKAGE_DESCRIPTION "Trains semantic segmentation models from image-level labels (CAM, AFA, ACR,
ViT-PCM, USAGE) on vision transformer backbones, shows what they learned
(attention, class activation maps, affinities), turns the maps into
pseudo-masks and exports the pseudo-label dataset. wsss is the command-line
tool; wsss-studio, when built, the Qt 6 desktop studio.")
# Debian policy wants a name and an address; packagers set theirs with -DWSSS_PACKAGE_MAINTAINER=.
set(WSSS_PACKAGE_MAINTAINER "WSSS Studio developers <wsss-studio@localhost>"
    CACHE STRING "The Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${WSSS_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # wsss-studio_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# Depends from the libraries the binaries link (dpkg-shlibdeps reads the shlibs files of
# libtorch1.13, libopencv-*, libqt6*, ...), plus what is loaded at run time and so invisible to it:
# Qt's platform plugins (xcb, offscreen) for the studio.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
if(WSSS_BUILD_GUI)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "qt6-qpa-plugins")
endif()
# LibTorch runs its matrix products on whichever libblas.so.3 is selected; OpenBLAS's OpenMP
# build is the one the project is tuned and benchmarked with (packaging/install-deps.sh).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libopenblas0-openmp")
include(CPack)
