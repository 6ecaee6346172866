"""One module per experiment, named as its notebook (``notebooks/<name>.py``), its
``params.yaml`` section, ``references/<name>.yaml``, its DVC stage and
``data/results/<name>.json``: the configuration (``Config``), the runs, tables, metrics and
claims. An experiment module imports the shared core and the method packages, never another
experiment."""
