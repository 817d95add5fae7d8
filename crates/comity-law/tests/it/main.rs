mod cases;
mod shipped;
mod support;
