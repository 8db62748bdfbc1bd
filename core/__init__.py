"""What every area shares: configuration, database, extensions, errors, logging, metrics, security headers,
the OpenAI HTTP client and the admins file."""
