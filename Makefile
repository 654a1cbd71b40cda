# Parley: the two commands of the quick start are `make run` and `make test`.
# Everything else is for developers; `make help` lists it.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
DATA_DIR   ?= data
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
PARLEY     := $(BUILD)/bin/parley
DEMO_MODEL := $(DATA_DIR)/parley-demo.gguf

.PHONY: help setup configure build test run bench fuzz asan format lint clean

help:
	@echo "make run     install what is missing, build, and start Parley with the built-in demo model"
	@echo "make test    install what is missing, build, and run every test"
	@echo "make build   build $(PARLEY) and the tests ($(BUILD_TYPE))"
	@echo "make bench   run the benchmarks (tokenizer throughput, ...)"
	@echo "make fuzz    run the libFuzzer targets for a minute (FUZZ_SECONDS=60)"
	@echo "make asan    build and test with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/"
	@echo "make format  clang-format the sources;  make lint  clang-tidy them"

setup:
	@scripts/setup

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

configure: setup $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	scripts/check_layers
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 900

# The demo model is generated once (random weights: its text is noise) and cached in $(DATA_DIR).
$(DEMO_MODEL): | build
	@mkdir -p $(DATA_DIR)
	$(PARLEY) model synth --arch llama --vocab-from builtin:bytes --name parley-demo \
	    --layers 4 --embd 256 --heads 4 --kv-heads 2 --ff 768 --ctx 2048 --type q8_0 --seed 1 --out $@

run: build $(DEMO_MODEL)
	@scripts/run-demo $(PARLEY) $(DEMO_MODEL)

bench: build
	$(BUILD)/bench/tokenizer_bench --benchmark_counters_tabular=true

fuzz: setup
	scripts/fuzz --seconds $${FUZZ_SECONDS:-60}

asan: setup
	$(MAKE) test BUILD=build-asan CMAKE_ARGS="-DPARLEY_SANITIZE=ON -DPARLEY_BUILD_BENCH=OFF" BUILD_TYPE=Debug

format:
	find src apps tests bench -name '*.h' -o -name '*.cpp' | xargs clang-format-14 -i

lint: configure
	find src apps -name '*.cpp' | xargs clang-tidy-14 -p $(BUILD) --quiet

clean:
	rm -rf $(BUILD) build-asan build-fuzz
