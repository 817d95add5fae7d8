mod cases;
mod load;
mod props;
mod shipped;
mod support;
