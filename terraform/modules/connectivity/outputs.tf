output "transit_gateway_id" {
  description = "Transit gateway of the region."
  value       = aws_ec2_transit_gateway.this.id
}

output "dx_gateway_id" {
  description = "Direct Connect gateway of the region."
  value       = aws_dx_gateway.this.id
}

output "dx_connection_ids" {
  description = "Direct Connect connections by name (hand their LOA-CFA to the colocation provider)."
  value       = { for k, c in aws_dx_connection.this : k => c.id }
}

output "transit_virtual_interface_ids" {
  description = "Transit virtual interfaces by connection name."
  value       = { for k, v in aws_dx_transit_virtual_interface.this : k => v.id }
}
