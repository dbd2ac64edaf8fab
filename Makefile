# Thin wrapper over CMake. `make` builds, `make demo` runs a local server + agent,
# `make test` runs the whole suite (plain build, then ASan+UBSan build), `make bench` the
# benchmarks (docs/benchmarks.md; BENCH_QUICK=1 for a smoke run).
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all deps build demo demo-stop test test-plain test-asan fuzz bench clean

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

test: build test-plain test-asan test-tsan

test-plain:
	cd $(BUILD) && ctest --output-on-failure -j 2

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTETHER_SANITIZE=ON >/dev/null
	@env -u MAKEFLAGS -u MAKELEVEL cmake --build $(ASAN_BUILD) -j $(JOBS) >/dev/null || env -u MAKEFLAGS -u MAKELEVEL cmake --build $(ASAN_BUILD) -j 1
	cd $(ASAN_BUILD) && TETHER_TEST_SLOW=3 TETHER_SANITIZER=asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 2

# libFuzzer (clang): each target in tests/fuzz for FUZZ_SECONDS; the corpus replay runs in `make test`.
fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTETHER_FUZZ=ON >/dev/null
	@env -u MAKEFLAGS -u MAKELEVEL cmake --build $(FUZZ_BUILD) -j $(JOBS) --target \
	  fuzz_json fuzz_b64 fuzz_utf8 fuzz_config fuzz_output_body fuzz_ids fuzz_sse fuzz_route \
	  fuzz_params >/dev/null
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BUILD)

# ThreadSanitizer over the threaded code: the agent's unit tests and the end-to-end suites, whose
# agents and servers are TSan builds (a report in any process log fails the test).
test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTETHER_TSAN=ON >/dev/null
	@env -u MAKEFLAGS -u MAKELEVEL cmake --build $(TSAN_BUILD) -j $(JOBS) >/dev/null || env -u MAKEFLAGS -u MAKELEVEL cmake --build $(TSAN_BUILD) -j 1
	cd $(TSAN_BUILD) && TETHER_TEST_SLOW=3 TETHER_SANITIZER=tsan TSAN_OPTIONS=halt_on_error=0:second_deadlock_stack=1 \
	  ctest --output-on-failure -j 2 -R 'unit.test_agent|e2e'

# Not part of `make test` or CI: minutes long, and it installs OpenSSH server and Ansible.
bench: build
	@install/bench-deps.sh
	python3 bench/run.py --bin $(BUILD)/bin

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
