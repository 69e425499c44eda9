"""A local stand-in for the Partner Center APIs (referrals, solutions, marketplace traffic report
and the Entra ID token endpoint), serving a landing zone over HTTP on 127.0.0.1.

For tests, demos and new users without Partner Center credentials: `referral-insights sandbox`.
"""
