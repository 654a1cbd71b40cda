# Parley: the two commands of the quick start are `make run` and `make test`.
# Everything else is for developers; `make help` lists it.

BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
DATA_DIR   ?= data
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
PARLEY     := $(BUILD)/bin/parley
HOST       ?= 127.0.0.1
PORT       ?= 8080

.PHONY: help setup configure build test run bench fuzz asan format lint clean image deploy-check soak overload bench-endpoints

help:
	@echo "make run     install what is missing, build, and serve the chat UI and the API (built-in demo model) on http://$(HOST):$(PORT)"
	@echo "make test    install what is missing, build, and run every test"
	@echo "make build   build $(PARLEY) and the tests ($(BUILD_TYPE))"
	@echo "make bench   run the benchmarks (tokenizer, matmul kernels, whole models, serving load)"
	@echo "make fuzz    run each libFuzzer target for a minute (FUZZ_SECONDS=60, FUZZ_TARGETS=...); make test replays the committed seeds (fuzz_smoke_*)"
	@echo "make soak    a soak of parley serve with mixed clients (SOAK_MINUTES=20), checked for leaks; make overload: load at and 3x over capacity"
	@echo "make bench-endpoints  wrk on log-in, conversations and models with SQLite and PostgreSQL"
	@echo "make asan    build and test with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/"
	@echo "make format  clang-format the sources;  make lint  clang-tidy them"
	@echo "make image   an OCI image ($(IMAGE)) of this build with buildah, no base image pulled; also $(IMAGE_ARCHIVE)"
	@echo "make deploy-check  render and check deploy/ (kustomize overlays, yamllint, promtool) offline"

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

# With no --model, `parley serve` generates the demo model once into $(DATA_DIR) (random weights:
# its replies are noise) and says so at start-up.
run: build
	$(PARLEY) serve --host $(HOST) --port $(PORT) --data $(DATA_DIR)

# Kernel and tokenizer micro-benchmarks, then whole-model figures on TinyLlama-shaped models
# (generated once into $(DATA_DIR)/bench, ~4 GB).
bench: build
	$(BUILD)/bench/tokenizer_bench --benchmark_counters_tabular=true
	$(BUILD)/bench/matmul_bench --benchmark_filter='^matmul/(q4_0|q8_0|f16)/in:2048/out:5632/'
	scripts/bench-models $(PARLEY) $(DATA_DIR)/bench

FUZZ_TARGETS ?= gguf_reader chat_template cookie_header toolcall_parser policy_eval policy_config tokenizer api_request \
                http_request sse serve_config grammar
fuzz: setup
	for t in $(FUZZ_TARGETS); do scripts/fuzz --target $$t --seconds $${FUZZ_SECONDS:-60} || exit 1; done

# Reliability runs (docs/reliability.md): not part of make test.
SOAK_MINUTES ?= 20
soak: build
	nice -n 10 node scripts/soak.mjs --mode soak --minutes $(SOAK_MINUTES) --bin $(PARLEY) --csv $(BUILD)/soak.csv

OVERLOAD_MINUTES ?= 2
overload: build
	nice -n 10 node scripts/soak.mjs --mode overload --minutes $(OVERLOAD_MINUTES) --bin $(PARLEY)

bench-endpoints: build
	scripts/bench_endpoints --bin $(PARLEY)

asan: setup
	$(MAKE) test BUILD=build-asan CMAKE_ARGS="-DPARLEY_SANITIZE=ON -DPARLEY_BUILD_BENCH=OFF" BUILD_TYPE=Debug

format:
	find src apps tests bench -name '*.h' -o -name '*.cpp' | xargs clang-format-14 -i

lint: configure
	find src apps -name '*.cpp' | xargs clang-tidy-14 -p $(BUILD) --quiet

# The OCI image of the local build (scripts/make-image); the Containerfile builds one from source.
IMAGE         ?= parley:dev
IMAGE_ARCHIVE ?= $(BUILD)/parley-image.oci.tar
image: build
	scripts/make-image --parley $(PARLEY) --tag $(IMAGE) --oci-archive $(IMAGE_ARCHIVE)

deploy-check: configure
	ctest --test-dir $(BUILD) --output-on-failure -L deploy -LE image

clean:
	rm -rf $(BUILD) build-asan build-fuzz
