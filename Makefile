# Thin wrapper over CMake. `make` builds, `make demo` runs a local server + agent,
# `make test` runs the whole suite (plain build, then ASan+UBSan build).
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build demo demo-stop test test-plain test-asan clean

all: build

deps:
	@install/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@env -u MAKEFLAGS -u MAKELEVEL cmake --build $(BUILD) -j $(JOBS) >/dev/null || env -u MAKEFLAGS -u MAKELEVEL cmake --build $(BUILD) -j 1

demo: build
	@install/demo.sh

demo-stop:
	@install/demo.sh stop

test: build test-plain test-asan

test-plain:
	cd $(BUILD) && ctest --output-on-failure -j 2

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTETHER_SANITIZE=ON >/dev/null
	@env -u MAKEFLAGS -u MAKELEVEL cmake --build $(ASAN_BUILD) -j $(JOBS) >/dev/null || env -u MAKEFLAGS -u MAKELEVEL cmake --build $(ASAN_BUILD) -j 1
	cd $(ASAN_BUILD) && TETHER_TEST_SLOW=3 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 2

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
