"""ccsim: a discrete-event contact-center simulator and routing-policy benchmark."""
