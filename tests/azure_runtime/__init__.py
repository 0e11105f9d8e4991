"""Tests of the Azure runtime. Not named `azure`: tests/ is on sys.path in some suites, and a tests/azure
package would shadow the azure SDK namespace."""
