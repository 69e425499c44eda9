"""Static vocabulary of the synthetic landing zone: names, countries, currencies, enums.

Only realistic-looking reference values live here; how often each is used is decided by the
planners (referrals.py, solutions.py, traffic.py).
"""

# Partner organisations (Microsoft's fictitious company names); more orgs than names get a suffix.
PARTNER_NAMES = (
    "Contoso Ltd",
    "Fabrikam Inc",
    "Northwind Traders",
    "Litware Inc",
    "Adatum Corporation",
    "Proseware Inc",
    "Trey Research",
    "Lamna Healthcare",
    "Relecloud",
    "Alpine Ski House",
    "Woodgrove Bank",
    "Coho Winery",
    "Fourth Coffee",
    "VanArsdel Ltd",
    "Wide World Importers",
)
# Partners outside the warehouse that invite ours to deals (P2P co-sell, lead distributors).
THIRD_PARTY_PARTNERS = ("Tailspin Distribution", "Lucerne Consulting", "Wingtip Cloud Services")

COUNTRIES = ("US", "GB", "DE", "NL", "FR", "IN", "JP", "AU", "CA", "BR")
COUNTRY_WEIGHTS = (0.30, 0.10, 0.10, 0.05, 0.07, 0.10, 0.06, 0.06, 0.10, 0.06)
# Share of referrals without a customer country: half lack address.country, half the profile.
COUNTRY_MISSING_SHARE = 0.04

CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD", "JPY", "INR")
COUNTRY_CURRENCY = {
    "US": "USD",
    "GB": "GBP",
    "DE": "EUR",
    "NL": "EUR",
    "FR": "EUR",
    "IN": "INR",
    "JP": "JPY",
    "AU": "AUD",
    "CA": "CAD",
    "BR": "USD",
}
# Rough units per USD, only to give amounts a plausible magnitude in their currency.
UNITS_PER_USD = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "CAD": 1.37,
    "AUD": 1.52,
    "JPY": 150.0,
    "INR": 84.0,
}
# Deal values are quoted in round numbers: to the hundred, or to ten thousand for JPY/INR.
AMOUNT_STEP = {
    "USD": 100,
    "EUR": 100,
    "GBP": 100,
    "CAD": 100,
    "AUD": 100,
    "JPY": 10_000,
    "INR": 10_000,
}

CUSTOMER_BASES = (
    "Fabrikam",
    "Northwind",
    "Adatum",
    "Tailspin",
    "Wingtip",
    "Litware",
    "Proseware",
    "Lamna",
    "Coho",
    "Woodgrove",
    "Relecloud",
    "Munson's Pickles",
    "Trey",
    "Alpine",
    "Fourth Coffee",
    "VanArsdel",
    "Humongous Insurance",
    "Wide World",
    "Southridge Video",
    "Blue Yonder Airlines",
    "Margie's Travel",
    "Bellows College",
    "Lucerne Publishing",
    "Graphic Design Institute",
    "Datum",
    "Consolidated Messenger",
    "Best For You Organics",
    "Nod Publishers",
    "School of Fine Art",
    "First Up Consultants",
)
LEGAL_SUFFIX = {
    "US": "Inc",
    "GB": "Ltd",
    "DE": "GmbH",
    "NL": "BV",
    "FR": "SA",
    "IN": "Pvt Ltd",
    "JP": "KK",
    "AU": "Pty Ltd",
    "CA": "Inc",
    "BR": "Ltda",
}
CITIES = {
    "US": ("Seattle", "Chicago", "Austin", "New York"),
    "GB": ("London", "Manchester"),
    "DE": ("Berlin", "Munich", "Hamburg"),
    "NL": ("Amsterdam", "Utrecht"),
    "FR": ("Paris", "Lyon"),
    "IN": ("Bengaluru", "Mumbai", "Hyderabad"),
    "JP": ("Tokyo", "Osaka"),
    "AU": ("Sydney", "Melbourne"),
    "CA": ("Toronto", "Vancouver"),
    "BR": ("São Paulo", "Curitiba"),
}
CUSTOMER_SIZES = (
    "1to50employees",
    "51to500employees",
    "Morethan500employees",
    "251to1000employees",
    "1001to5000employees",
    "Morethan20000employees",
)

WORKLOADS = (
    "Azure migration",
    "Data platform modernization",
    "Security assessment",
    "Copilot rollout",
    "SAP on Azure",
    "Azure Virtual Desktop",
    "AI document processing",
    "Landing zone setup",
    "Teams Phone deployment",
    "Dynamics 365 Sales",
    "Cost optimization",
    "Backup and DR",
)
DECLINE_REASONS = (
    "Not a fit",
    "Out of coverage area",
    "Duplicate",
    "Insufficient capacity",
    "Customer not reachable",
)
LOST_REASONS = ("Lost to competitor", "No budget", "No decision", "Timing", "Price")
CALLS_TO_ACTION = ("Contact me", "Free trial", "Get it now", "Test drive")

# Marketplace products a partner publishes as solutions (name, solution type).
PRODUCTS = (
    ("Lakehouse Accelerator", "IP"),
    ("Secure Identity Gateway", "IP"),
    ("FinOps Insights", "IP"),
    ("Retail Demand Forecaster", "IP"),
    ("IoT Fleet Monitor", "Device"),
    ("Managed SOC", "ManagedService"),
    ("Azure Migration Factory", "Service"),
    ("Copilot Readiness Assessment", "Service"),
    ("Contract Intelligence", "IP"),
    ("Field Service Optimizer", "IP"),
    ("Edge Vision Kit", "Device"),
    ("Data Governance Hub", "IP"),
    ("Backup as a Service", "ManagedService"),
    ("Kubernetes Landing Zone", "Service"),
    ("Claims Automation", "IP"),
)
SOLUTION_ID_SUFFIX = {"IP": "IPC", "Service": "SVC", "ManagedService": "MSP", "Device": "DEV"}

# Explicit UTC offsets a few records use instead of "Z" (minutes east of UTC).
UTC_OFFSETS_MINUTES = (120, 330, -300)
