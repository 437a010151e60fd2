"""Reports for finance staff: settlement by day and transaction exports, as CSV or XLSX."""
