//! tgsim: placeholder until the simulator lands.
