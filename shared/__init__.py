"""Code every callpipe process shares: configuration, logging, AWS access, errors, domain stores."""
