# Primary region (us-east-1): the writer of the Aurora global database, the primary Amazon MQ
# broker, and the PRIMARY DNS failover record. Apply this env before envs/secondary.

locals {
  region                    = "us-east-1"
  name                      = "ledger-use1"
  azs                       = ["us-east-1a", "us-east-1b", "us-east-1c"]
  vpc_cidr                  = "10.20.0.0/16"
  global_cluster_identifier = "backoffice-ledger"
  namespace                 = "ledger"
  service_account           = "backoffice-ledger"

  tags = {
    project     = "backoffice-ledger"
    environment = "production"
    region-role = "primary"
    managed-by  = "terraform"
  }
}

provider "aws" {
  region = local.region

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}

module "network" {
  source = "../../modules/network"

  name       = local.name
  cidr_block = local.vpc_cidr
  azs        = local.azs
  tags       = local.tags
}

module "eks" {
  source = "../../modules/eks"

  cluster_name            = local.name
  vpc_id                  = module.network.vpc_id
  private_subnet_ids      = module.network.private_subnet_ids
  api_allowed_cidr_blocks = var.on_premise_cidr_blocks
  node_groups             = var.node_groups
  tags                    = local.tags
}

module "mq" {
  source = "../../modules/mq"

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = slice(module.network.data_subnet_ids, 0, 2)
  client_security_group_ids = [module.eks.cluster_security_group_id]
  client_cidr_blocks        = var.on_premise_cidr_blocks
  tags                      = local.tags
}

module "database" {
  source = "../../modules/database"

  name                      = local.name
  role                      = "primary"
  global_cluster_identifier = local.global_cluster_identifier
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.data_subnet_ids
  client_security_group_ids = [module.eks.cluster_security_group_id]
  client_cidr_blocks        = var.on_premise_cidr_blocks
  instance_count            = 3
  tags                      = local.tags

  # The secondary env's vault (name fixed by its locals), so no apply-order cycle.
  backup_copy_vault_arn = "arn:aws:backup:us-west-2:${data.aws_caller_identity.current.account_id}:backup-vault:ledger-usw2-aurora"
}

module "connectivity" {
  source = "../../modules/connectivity"

  name                   = local.name
  vpc_id                 = module.network.vpc_id
  vpc_cidr_block         = module.network.vpc_cidr_block
  attachment_subnet_ids  = module.network.private_subnet_ids
  route_table_ids        = concat(module.network.private_route_table_ids, module.network.data_route_table_ids)
  on_premise_cidr_blocks = var.on_premise_cidr_blocks
  transit_gateway_asn    = 64601
  dx_gateway_asn         = 64611
  customer_asn           = var.customer_asn
  dx_connections         = var.dx_connections
  tags                   = local.tags
}

module "edge" {
  source = "../../modules/edge"

  name              = local.name
  vpc_id            = module.network.vpc_id
  vpc_cidr_block    = module.network.vpc_cidr_block
  public_subnet_ids = module.network.public_subnet_ids
  certificate_arn   = var.certificate_arn
  tags              = local.tags

  dns = var.dns_zone_id == null ? null : {
    zone_id       = var.dns_zone_id
    record_name   = var.dns_record_name
    failover_role = "PRIMARY"
  }
}

module "iam" {
  source = "../../modules/iam"

  name              = local.name
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_issuer_url   = module.eks.oidc_issuer_url
  tags              = local.tags

  service_accounts = {
    app = {
      namespace       = local.namespace
      service_account = local.service_account
      secret_arns     = compact([module.mq.credentials_secret_arn, module.database.admin_secret_arn])
      kms_key_arns    = [module.mq.kms_key_arn, module.database.kms_key_arn]
      rds_connect_arns = [
        "arn:aws:rds-db:${local.region}:${data.aws_caller_identity.current.account_id}:dbuser:${module.database.cluster_resource_id}/ledger_app",
      ]
    }
  }
}

module "alarms" {
  source = "../../modules/alarms"

  name                   = local.name
  db_cluster_identifier  = module.database.cluster_identifier
  db_is_global_secondary = false
  mq_broker_name         = local.name
  dx_connection_ids      = module.connectivity.dx_connection_ids
  tags                   = local.tags
}
