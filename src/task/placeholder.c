int tether_placeholder;
