"""From every run's figures to what a run prints and keeps: medians per test (summary), the
markdown tables (markdown) with issue 4's target rows (targets), and the results files
(files)."""
