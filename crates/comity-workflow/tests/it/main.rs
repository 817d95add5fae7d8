mod conditions;
mod fields;
mod preflight;
mod props;
mod scenario;
mod scheduler;
mod support;
mod transitions;
