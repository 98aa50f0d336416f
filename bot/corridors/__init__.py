"""Corridor knowledge: cards per migration route, fee comparison and the job-offer check."""
