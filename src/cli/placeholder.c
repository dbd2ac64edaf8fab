int tether_placeholder_c;
