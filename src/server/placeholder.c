int tether_placeholder_s;
