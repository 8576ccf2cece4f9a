"""Entry points above the core and the queries: the command line, the benchmarks and
the first run (database set-up with the sample city). `dashboard/` never imports
`queries/` or `sample_data/`; these modules compose them."""
