# ARG and ENV as Docker scopes them: ARGs before FROM only in FROM, a stage's ARG with
# a default and a --build-arg over it, ENV in both forms, values built on the base image's PATH.
ARG PYTORCH=2.3.1
ARG CUDA=12.1
FROM pytorch/pytorch:${PYTORCH}-cuda${CUDA}-cudnn8-runtime

ARG CUDA
ARG MODEL_DIR=/models
ARG HF_HOME
ENV HF_HOME=${HF_HOME:-/cache/huggingface} \
    TORCH_HOME="/cache/torch" \
    CUDA_LABEL=cu${CUDA}
ENV PATH=/opt/tools/bin:$PATH LD_LIBRARY_PATH=/opt/tools/lib:${LD_LIBRARY_PATH}
ENV MODELS $MODEL_DIR/weights and more
RUN mkdir -p "$HF_HOME" "$TORCH_HOME" "$MODEL_DIR" && \
    echo "built for CUDA $CUDA in $MODEL_DIR"
LABEL org.opencontainers.image.source="https://example.org/lab/model" \
      cuda=${CUDA}
