//! Live capture through libpcap: a domain controller's own interface, or a mirror port
//! (promiscuous). (Stub: pending.)
