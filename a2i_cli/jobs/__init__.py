"""jobs: where work runs (in-process, a local process pool, Ray) and the bulk jobs: batch generation and scoring."""
