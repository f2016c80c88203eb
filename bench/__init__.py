"""The benchmark (`crm bench`): every page, report and job timed against its raw-SQL floor."""
