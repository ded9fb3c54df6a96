"""The county health commission (`wjw`): the childcare subsidy (育儿补贴)."""
