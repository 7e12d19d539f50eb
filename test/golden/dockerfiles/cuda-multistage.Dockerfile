# syntax=docker/dockerfile:1.6
# A research image: build wheels (CUDA extensions) in the devel image, run from the slim runtime image.
ARG CUDA_VERSION=12.1.1
ARG UBUNTU=22.04

FROM nvidia/cuda:${CUDA_VERSION}-cudnn8-devel-ubuntu${UBUNTU} AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
        python3-dev python3-pip git build-essential ninja-build && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip3 wheel --wheel-dir /wheels -r requirements.txt
COPY . .
ARG TORCH_CUDA_ARCH_LIST="8.0;8.6;9.0"
RUN pip3 wheel --no-deps --wheel-dir /wheels .

FROM nvidia/cuda:${CUDA_VERSION}-cudnn8-runtime-ubuntu${UBUNTU}
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-pip && \
    rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip3 install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /workspace
CMD ["python3", "-m", "mylab.train"]
