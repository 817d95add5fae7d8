mod support;
mod shipped;
