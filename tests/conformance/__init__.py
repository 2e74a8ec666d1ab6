"""ASL conformance cases (written from the AWS documentation) and the handlers they call."""
