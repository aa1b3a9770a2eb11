"""The ACE 2005 annotation schema (entity types and subtypes, relation types and subtypes)."""

ENTITY_SUBTYPES: dict[str, tuple[str, ...]] = {
    "FAC": ("Airport", "Building-Grounds", "Path", "Plant", "Subarea-Facility"),
    "GPE": ("Continent", "County-or-District", "GPE-Cluster", "Nation", "Population-Center",
            "Special", "State-or-Province"),
    "LOC": ("Address", "Boundary", "Celestial", "Land-Region-Natural", "Region-General",
            "Region-International", "Water-Body"),
    "ORG": ("Commercial", "Educational", "Entertainment", "Government", "Media",
            "Medical-Science", "Non-Governmental", "Religious", "Sports"),
    "PER": ("Group", "Indeterminate", "Individual"),
    "VEH": ("Air", "Land", "Subarea-Vehicle", "Underspecified", "Water"),
    "WEA": ("Biological", "Blunt", "Chemical", "Exploding", "Nuclear", "Projectile", "Sharp",
            "Shooting", "Underspecified"),
}
ENTITY_TYPES: tuple[str, ...] = tuple(ENTITY_SUBTYPES)

RELATION_SUBTYPES: dict[str, tuple[str, ...]] = {
    "ART": ("User-Owner-Inventor-Manufacturer",),
    "GEN-AFF": ("Citizen-Resident-Religion-Ethnicity", "Org-Location"),
    "ORG-AFF": ("Employment", "Founder", "Investor-Shareholder", "Membership", "Ownership",
                "Sports-Affiliation", "Student-Alum"),
    "PART-WHOLE": ("Artifact", "Geographical", "Subsidiary"),
    "PER-SOC": ("Business", "Family", "Lasting-Personal"),
    "PHYS": ("Located", "Near"),
}
RELATION_TYPES: tuple[str, ...] = tuple(RELATION_SUBTYPES)
# Symmetric by the ACE 2005 guidelines: every PER-SOC relation (business, family,
# lasting personal) and the PHYS.Near subtype (PHYS.Located is directed).
SYMMETRIC_RELATION_TYPES: tuple[str, ...] = ("PER-SOC", "PHYS.Near")
