terraform {
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }

  # State of the primary region lives in the primary region; the secondary keeps its own in
  # us-west-2 so that a us-east-1 outage never locks the failover out of its state.
  backend "s3" {
    bucket       = "backoffice-ledger-tfstate-us-east-1"
    key          = "envs/primary/terraform.tfstate"
    region       = "us-east-1"
    encrypt      = true
    use_lockfile = true
  }
}
