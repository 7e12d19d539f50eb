FROM continuumio/miniconda3:24.1.2-0
WORKDIR /opt/lab
COPY environment.yml .
RUN conda env create -f environment.yml && conda clean -afy
# Every RUN after this runs inside the environment, as Docker runs it.
SHELL ["conda", "run", "-n", "lab", "/bin/bash", "-o", "pipefail", "-c"]
RUN python -c "import torch; print(torch.__version__)" | tee /opt/lab/torch-version.txt
COPY train.py .
USER 1000
VOLUME ["/data", "/results"]
HEALTHCHECK --interval=30s CMD curl -f http://localhost:8080/health || exit 1
ENTRYPOINT ["conda", "run", "--no-capture-output", "-n", "lab"]
CMD ["python", "train.py", "--epochs", "10"]
