"""The CDK Terrain app of cv-analytics: one folder of Terraform JSON per stack and environment."""
