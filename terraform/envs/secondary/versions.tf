terraform {
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }

  # State of the secondary region lives in us-west-2, apart from the primary's (us-east-1), so
  # that a us-east-1 outage never locks the failover out of its state.
  backend "s3" {
    bucket       = "backoffice-ledger-tfstate-us-west-2"
    key          = "envs/secondary/terraform.tfstate"
    region       = "us-west-2"
    encrypt      = true
    use_lockfile = true
  }
}
