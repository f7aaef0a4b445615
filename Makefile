# sockit — the front door. CMake does the building; these targets are what people type.
#   make            build into build/ (installs missing Debian packages first when run as root:
#                   scripts/deps.sh, whose profile -- run, test, bench -- fits the target)
#   make test       the same set-up, then every test (ctest); CI repeats the suite (.ci/run)
#   make run        build only the library and the command, then start the main job:
#                   `sockit http serve` on www/ at port $(PORT) (default 8000); run packages only
#   make sanitize   the tests again as an ASan+UBSan build (build-asan/)
#   make clang      the tests again built with clang (build-clang/)
#   make tsan       the tests again under ThreadSanitizer (build-tsan/); TESTS=REGEX picks some
#   make fuzz       build the libFuzzer targets (clang) and run each for FUZZ_SECONDS
#   make bench      the benchmarks (bench/), ratios against peers measured in the same run
#   make install PREFIX=DIR   (into /usr or /usr/local as root it also runs ldconfig)
BUILD        ?= build
PREFIX       ?= /usr/local
JOBS         ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 30
PORT         ?= 8000
CMAKE_FLAGS  ?=
TESTS        ?= .
DEPS         ?= run
REPEAT       ?= 1

.PHONY: all deps build test run sanitize clang tsan fuzz bench install clean

all: build

# The Debian packages each target needs (target-specific, so `make test` installs the test set).
test sanitize clang tsan fuzz: DEPS = test
bench: DEPS = bench

deps:
	@scripts/deps.sh $(DEPS)

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

# REPEAT=N runs every test up to N times, stopping at a failure (CI uses it to catch flakes).
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --repeat until-fail:$(REPEAT)

# www/ is a small page about the server itself (with a listed directory), so that the URL shows
# something meaningful at once; any directory works the same (-d DIR).
run: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target sockit_cli -- --no-print-directory
	@echo "serving www/ with sockit http serve: open http://localhost:$(PORT)/ (Ctrl-C stops it)"
	@$(BUILD)/bin/sockit http serve -d www -p $(PORT)

sanitize: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSOCKIT_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS)

clang: deps
	@CC=clang cmake -S . -B build-clang $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-clang -j $(JOBS)
	cd build-clang && ctest --output-on-failure -j $(JOBS)

tsan: deps
	@CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DSOCKIT_TSAN=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp ctest --output-on-failure -j $(JOBS) -R '$(TESTS)'

fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DSOCKIT_FUZZ=ON -DSOCKIT_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

bench: build
	@bench/run.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-clang build-tsan build-fuzz
