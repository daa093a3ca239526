"""Compliance audits of calls: transcripts, PII redaction and the judges that look for breaches."""
