export { clsTransactions, type ClsTransactionsOptions } from './cls-transactions.js';
