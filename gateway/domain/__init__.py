"""Pure rules of the gateway: values, states, errors, licence checks. No IO, no adapters."""
