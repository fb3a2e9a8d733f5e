"""The notifications bounded context: rules over the other contexts' events, and deliveries."""
