# WSSS Studio — the README's commands.
#   make run    install what is missing, build, make the demo data and open the studio
#   make test   install what is missing, build, run every test under CTest (GUI tests under Xvfb)
#   make build  build only;  make bench  run the benchmarks (tests/bench)
#   make package  build, then the Debian package (CPack): build/wsss-studio_<version>_<arch>.deb
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
DEMO_DIR ?= demo
CMAKE_FLAGS ?=
# Let ccache reuse objects across clones of the repository at other paths.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
# Precompiled headers are cacheable only with these (ccache manual, "Precompiled headers").
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: deps build test run bench demo-data package clean

deps:
	@bash packaging/install-deps.sh

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j 1

# The demo dataset (Fashion-MNIST composites); `run` opens it with the bundled demo checkpoint,
# or one that packaging/open-demo.sh trains on first run (about half an hour on a CPU).
$(DEMO_DIR)/data/labelmap.txt: | build
	$(BUILD_DIR)/bin/wsss demo-data --out $(DEMO_DIR)/data --train 2000 --val 500 --size 128

demo-data: $(DEMO_DIR)/data/labelmap.txt

run: build demo-data
	@bash packaging/open-demo.sh $(BUILD_DIR) $(DEMO_DIR)

# The package holds what `build` made, stripped; cmake/Packaging.cmake says what goes in.
package: build
	cd $(BUILD_DIR) && cpack

bench: build
	@bash packaging/install-deps.sh --bench
	cmake --build $(BUILD_DIR) --target benchmarks -j $(JOBS)
	bash tests/bench/run.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
