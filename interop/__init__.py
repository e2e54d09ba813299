"""Standards at the edges: HL7 v2 parsing and MLLP framing (README, "ADT in")."""
